Feature: Only enrolled participants log in a programme
  As a researcher responsible for the programme's data
  I want records to come only from participants enrolled in that programme
  so that every record belongs to exactly one programme and its cohort

  Scenario: A participant of another programme cannot log here
    Given a programme "Digitalisering i Exempelby" for "Exempelby kommun" starting on 2026-09-07
    And another programme "Digitalisering i Grannby" for "Grannby kommun"
    And "Cy" is enrolled in the other programme
    When "Cy" logs a reflection in the first programme
    Then it is refused with "NotEnrolledError"
    And no reflection was recorded
