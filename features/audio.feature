@needs-audio
Feature: Audio management
  Guide 4.4: earpiece by default, speaker and mute on the Call object, Bluetooth only while a
  Bluetooth device is connected.

  Background:
    Given the client is initialized

  @guide-4.4 @needs-network
  Scenario: The earpiece is the default audio route
    Given an outgoing call is established
    When the app reads the audio route
    Then the audio route is EARPIECE

  @guide-4.4 @needs-network
  Scenario: The speaker is enabled and disabled
    Given an outgoing call is established
    When the app enables the speaker
    Then it is accepted
    And the audio route is SPEAKER
    When the app disables the speaker
    Then it is accepted
    And the audio route is EARPIECE

  @guide-4.4 @needs-network
  Scenario: The microphone is muted and unmuted during a call
    Given an outgoing call is established
    When the app mutes the call
    Then it is accepted
    When the app unmutes the call
    Then it is accepted

  @guide-4.4
  Scenario: Muting without a call is refused
    When the app mutes the call
    Then it is refused

  @guide-4.4 @needs-network @needs-bluetooth
  Scenario: Bluetooth cannot be enabled while no Bluetooth device is connected
    Given an outgoing call is established
    When the app enables Bluetooth
    Then it is refused

  @guide-4.4 @needs-network @needs-bluetooth
  Scenario: Bluetooth is enabled while a Bluetooth device is connected
    Given a Bluetooth device is connected
    And an outgoing call is established
    When the app enables Bluetooth
    Then it is accepted
    And the audio route is BLUETOOTH
    When the app disables Bluetooth
    Then it is accepted

  @guide-4.4 @needs-network @needs-bluetooth
  Scenario: Bluetooth is refused again once the device disconnects
    Given a Bluetooth device is connected
    And an outgoing call is established
    When the Bluetooth device disconnects
    And the app enables Bluetooth
    Then it is refused
