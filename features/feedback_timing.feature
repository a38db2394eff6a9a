@needs-feedback
Feature: Feedback is posted at the end of the call
  Guide 4.11: "reported to the exotel platform at the end of the call".

  @guide-4.11 @needs-network
  Scenario: Feedback during a call is refused
    Given the client is initialized
    And an outgoing call is established
    When the app posts feedback with rating 4
    Then it is refused
