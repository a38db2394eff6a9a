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

  @guide-4.4 @needs-network
  Scenario: The microphone is muted again after it was unmuted
    Given an outgoing call is established
    When the app mutes the call
    Then it is accepted
    When the app unmutes the call
    Then it is accepted
    When the app mutes the call
    Then it is accepted

  @guide-4.4
  Scenario: Muting without a call is refused or does nothing
    When the app mutes the call
    Then it is refused or has no effect

  @guide-4.4 @needs-network @needs-bluetooth
  Scenario: Bluetooth cannot be enabled while no Bluetooth device is connected
    Given an outgoing call is established
    When the app enables Bluetooth
    Then it is refused or has no effect
    And the audio route is EARPIECE

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
  Scenario: Bluetooth no longer takes the audio once the device disconnects
    Given a Bluetooth device is connected
    And an outgoing call is established
    When the Bluetooth device disconnects
    And the app enables Bluetooth
    Then it is refused or has no effect
    And the audio route is EARPIECE

  @guide-4.4 @needs-network @needs-wired-headset
  Scenario: A wired headset takes the audio when it is plugged in and gives it back
    Given an outgoing call is established
    When a wired headset is plugged in
    Then the audio route is HEADPHONES
    When the wired headset is unplugged
    Then the audio route is EARPIECE

  @guide-4.4 @needs-network @needs-bluetooth
  Scenario: A Bluetooth headset paired during a call takes the audio automatically
    Given an outgoing call is established
    When a Bluetooth device connects
    Then the audio route is BLUETOOTH
    When the Bluetooth device disconnects
    Then the audio route is EARPIECE

  @guide-4.4 @needs-network @needs-bluetooth
  Scenario: A Bluetooth headset paired during a call can be chosen with enableBluetooth
    Given an outgoing call is established
    When a Bluetooth device connects
    And the app enables Bluetooth
    Then it is accepted
    And the audio route is BLUETOOTH

  @guide-4.4 @needs-network @needs-wired-headset
  Scenario: The speaker wins over a wired headset until it is disabled
    Given a wired headset is plugged in
    And an outgoing call is established
    When the app enables the speaker
    Then the audio route is SPEAKER
    When the app disables the speaker
    Then the audio route is HEADPHONES

  @guide-4.4 @needs-network
  Scenario Outline: Every DTMF digit is sent during a call
    Given an outgoing call is established
    When the app sends the DTMF digit "<digit>"
    Then it is accepted

    Examples:
      | digit |
      | 0     |
      | 9     |
      | *     |
      | #     |

  @guide-4.4 @needs-network
  Scenario: DTMF digits are sent one at a time
    Given an outgoing call is established
    When the app sends the DTMF digit "55"
    Then it is refused
