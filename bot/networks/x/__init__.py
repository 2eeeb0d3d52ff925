"""X (Twitter): mentions and DMs polled through the API v2, answers as replies and DMs."""
