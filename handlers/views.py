"""Modal submissions: the notice template editor."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.domain.templates import NoticeKind, TemplateError
from bot.services.registry import Services
from bot.slack.template_modal import CALLBACK_ID, errors_response, metadata, submitted_text


def register(app: App, services: Services) -> None:
    @app.view(CALLBACK_ID)
    def on_template_saved(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        kind, language = metadata(view)
        try:
            services.templates.save(
                NoticeKind(kind), language, submitted_text(view), body["user"]["id"]
            )
        except TemplateError as error:
            ack(**errors_response(str(error)))  # shown on the field; nothing is stored
            return
        ack()
