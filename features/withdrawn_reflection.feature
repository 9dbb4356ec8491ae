Feature: A withdrawn reflection keeps its history
  As a researcher replaying the programme
  I want withdrawn reflections to stay in the log, like a voided statement
  so that nothing participants wrote is silently rewritten

  Scenario: Amend, then withdraw a reflection
    Given a programme "Digitalisering i Exempelby" for "Exempelby kommun" starting on 2026-09-07
    And "Ada" is enrolled as a manager in unit "soc"
    And "Ada" has logged a reflection "First wording"
    When "Ada" amends the reflection to "Second wording"
    And "Ada" withdraws the reflection
    Then the reflection's events are "Logged, Amended, Withdrawn"
    And the first event still reads "First wording"
    And the reflection is marked withdrawn
    And amending it again is refused with "RecordWithdrawnError"
