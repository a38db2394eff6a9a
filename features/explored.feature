Feature: Paths found by exovoice explore
  Runs `exovoice explore` found, and shrank, against the deliberately broken clients of
  bench/mutation.py where no hand-written scenario went; each is the explorer's own scenario
  (its steps are the step library's), kept so `exovoice conform` catches that fault too.

  @guide-4.2
  Scenario: A client stopped, reset and initialized again reports its initialization once
    Given an app without CallKit
    When the app stops the client
    And the app resets the client
    And the app initializes the client as "alice"
    Then what the app is told is judged against the guide
