Feature: Building on a colleague's insight across units
  As a participant from one unit of the municipality
  I want to build on what a colleague from another unit has shared with the course group,
  and carry a joint experiment with them to a capability
  so that the course works across silos, and researchers can replay how it did

  Background:
    Given a programme "Digitalisering i Exempelby" for "Exempelby kommun" starting on 2026-09-07
    And "Ada" is enrolled as a manager in unit "soc"
    And "Bo" is enrolled as an expert in unit "it"
    And "Cy" is enrolled as an expert in unit "bo"

  Scenario: From A's shared reflection to B's capability, through a joint experiment
    Given "Ada" has logged a reflection "The rule seems to forbid sharing data" shared with the course group
    When "Bo" decides "Read the rule again with the lawyers" based on Ada's reflection, involving "Ada" and the units "it, soc"
    And "Bo" plans a joint experiment "Pilot a shared data platform" with "Ada" based on the decision
    And "Ada" starts the experiment and records the observation "Lead time fell"
    And "Bo" evaluates the experiment and concludes it with "adopt"
    And "Bo" establishes the capability "Shared data platform" from the experiment with "Ada" in the team
    Then the capability's lineage leads back to Ada's reflection
    And the read models count the link from Bo's decision to Ada's reflection as across participants and units

  Scenario: A colleague's reflection kept for the researchers cannot be built on until shared
    Given "Ada" has logged a reflection "Each unit keeps its own register"
    When "Bo" decides "Keep one register" based on Ada's reflection, involving "Ada" and the units "it, soc"
    Then it is refused with "BasedOnError"
    When "Ada" shares the reflection with the course group
    And "Bo" decides "Keep one register" based on Ada's reflection, involving "Ada" and the units "it, soc"
    Then the decision is based on Ada's reflection

  Scenario: Only the team takes an experiment forward, and anyone may join a shared one
    Given "Bo" has planned a joint experiment "Pilot a shared data platform" with "Ada"
    When "Cy" starts the experiment
    Then it is refused with "NotTeamMemberError"
    When "Bo" shares the experiment with the course group
    And "Cy" joins the experiment
    And "Cy" starts the experiment
    Then the experiment's team is "Ada, Cy"
