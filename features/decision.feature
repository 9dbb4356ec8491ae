Feature: Decide on a change based on reflections
  As a participant
  I want to commit to a change and name the reflections it builds on
  so that researchers can follow how insight turned into action

  Background:
    Given a programme "Digitalisering i Exempelby" for "Exempelby kommun" starting on 2026-09-07
    And "Ada" is enrolled as a manager in unit "soc"
    And "Bo" is enrolled as an expert in unit "it"
    And "Ada" has logged a reflection "The rule seems to forbid sharing data"
    And "Bo" has logged a reflection "Each unit keeps its own register" shared with the course group

  Scenario: A decision across units based on two reflections
    When "Ada" decides "Choose another interpretation of the rule" based on both reflections, with units "soc, it"
    Then the decision is based on both reflections
    And the decision involves the units "soc, it"

  Scenario: A decision cannot build on a withdrawn reflection
    Given "Bo" has withdrawn the reflection "Each unit keeps its own register"
    When "Ada" decides "Choose another interpretation of the rule" based on both reflections, with units "soc"
    Then it is refused with "BasedOnError"

  Scenario: A decision cannot build on a colleague's reflection kept for the researchers
    Given "Bo" has logged a reflection "Only the researchers read this"
    When "Ada" decides "Choose another interpretation of the rule" based on both reflections, with units "soc"
    Then it is refused with "BasedOnError"
