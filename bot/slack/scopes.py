"""The bot token scopes Carebridge needs: the `oauth_config.scopes.bot` list of slack-manifest.yml.

`carebridge doctor` compares them with what Slack granted, and the Slack emulator grants them by
default. A test keeps this tuple and the manifest in step.
"""

from __future__ import annotations

REQUIRED_BOT_SCOPES: tuple[str, ...] = (
    "chat:write",  # cards, thread messages, ephemerals
    "channels:history",  # agents' thread messages in a public support channel
    "groups:history",  # ... or in a private one
    "channels:read",  # channel membership (doctor, access checks)
    "groups:read",
    "reactions:write",  # delivered / failed marks on agents' messages
    "commands",  # /care
    "users:read",  # names in App Home and reports
    "files:write",  # the weekly digest's chart
    "usergroups:read",  # who the leads are (SLACK_LEADS)
)
