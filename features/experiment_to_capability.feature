Feature: Try a change through a whole cycle and establish a capability
  As a participant leading an intervention in my organisation
  I want to plan, start, observe, evaluate and conclude an experiment
  so that what we adopt becomes an organisational capability, not only personal learning

  Background:
    Given a programme "Digitalisering i Exempelby" for "Exempelby kommun" starting on 2026-09-07
    And "Ada" is enrolled as a manager in unit "soc"
    And "Ada" has logged a reflection "The rule seems to forbid sharing data"
    And "Ada" has made a decision "Choose another interpretation" based on that reflection

  Scenario: An experiment adopted and a capability established from it
    When "Ada" plans an experiment "Pilot a shared data platform" based on the decision
    And the experiment is started in week 3
    And an observation "Lead time fell from ten to six days" is recorded
    And the experiment is evaluated with result "The prediction held"
    And the experiment is concluded with "adopt"
    And "Ada" establishes the capability "Shared data platform" from the experiment
    Then the experiment's events are "Planned, Started, ObservationRecorded, Evaluated, Concluded"
    And the capability leads back through the experiment and the decision to the reflection

  Scenario: The lifecycle only moves forward
    When "Ada" plans an experiment "Pilot a shared data platform" based on the decision
    And the experiment is concluded with "adopt"
    Then it is refused with "LifecycleError"
