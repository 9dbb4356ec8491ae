Feature: Log a reflection on a week's material
  As a participant (deltagare) acting as an action researcher
  I want to relate a week's material to my own operations
  so that the deficiencies I see become starting points for change

  Background:
    Given a programme "Digitalisering i Exempelby" for "Exempelby kommun" starting on 2026-09-07
    And a "podcast" called "Styrning i praktiken" is published for week 2
    And "Ada" is enrolled as a manager in unit "soc"

  Scenario: A reflection on week 2's material written on Monday of week 3
    When "Ada" logs a reflection for week 2 on "Styrning i praktiken" on 2026-09-21 with example "A rule read as forbidding a shared data platform"
    Then the reflection belongs to week 2 and to "Ada"'s unit "soc"
    And the reflection names the material "Styrning i praktiken"
    And the reflection reads "A rule read as forbidding a shared data platform"
    And the "Reflection.Logged" event was recorded at 2026-09-21 by "Ada"

  Scenario: A reflection for a week the programme does not have
    When "Ada" logs a reflection for week 6
    Then it is refused with "UnknownWeekError"
