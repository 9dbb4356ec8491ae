Feature: Plan a programme with five themed weeks
  As a researcher running a digitalisation course
  I want to plan the programme's weeks with their themes and dates
  so that participants can place every reflection in the right week

  Scenario: A programme planned with the five default themes
    Given a programme "Digitalisering i Exempelby" for "Exempelby kommun" starting on 2026-09-07
    Then the programme has 5 weeks
    And the weeks have the themes "digitalisation, governance, organising, strategy, summary"
    And week 2 runs from 2026-09-14 to 2026-09-18
    And the log holds one "Programme.Planned" event

  Scenario: Weeks that are not numbered in order are refused
    When a researcher plans a programme with weeks numbered "1, 3"
    Then the plan is refused because "weeks must be numbered 1..n in order"
    And the log is empty
