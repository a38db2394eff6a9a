"""What both ends of the wire share, and nothing else: the access-token format the platform
signs and the SDK presents (`tokens`), and the small HTTP client and server helpers the
platform, the sample backend and the SDK's session take use (`http`). The bottom room: it
imports no other room."""
