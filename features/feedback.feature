@needs-feedback
Feature: Call quality feedback
  Guide 4.11: at the end of the call, postFeedback(rating 1 to 5, issue a CallIssue).

  Background:
    Given the client is initialized
    And a call has ended

  @guide-4.11 @needs-network
  Scenario Outline: A rating from 1 to 5 is accepted
    When the app posts feedback with rating <rating>
    Then it is accepted

    Examples:
      | rating |
      | 1      |
      | 2      |
      | 3      |
      | 4      |
      | 5      |

  @guide-4.11 @needs-network
  Scenario Outline: A rating outside 1 to 5 is refused
    When the app posts feedback with rating <rating>
    Then it is refused with INVALID_PARAMETER

    Examples:
      | rating |
      | 0      |
      | 6      |
      | 7      |
      | 9      |
      | -1     |

  @guide-4.11 @needs-network
  Scenario Outline: Every call issue of the guide is accepted
    When the app posts feedback with rating 3 and issue <issue>
    Then it is accepted

    Examples:
      | issue            |
      | NO_ISSUE         |
      | BACKGROUND_NOISE |
      | CHOPPY_AUDIO     |
      | HIGH_LATENCY     |
      | NO_AUDIO         |
      | ECHO             |

  @guide-4.11 @needs-network
  Scenario: An issue that is not a CallIssue is refused
    When the app posts feedback with rating 3 and issue NOT_AN_ISSUE
    Then it is refused with INVALID_PARAMETER
