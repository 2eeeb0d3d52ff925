"""`carebridge demo --interactive`: after the scripted morning, you play the agent or a customer.

Each command does what a person would do in Slack or on X (press a button, write in a thread,
tweet, send a DM); the bot reacts through its real code paths and the changes are shown.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from functools import partial

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bot.demo.render import ChannelView
from bot.demo.script import AGENTS
from bot.networks.facebook.emulator import GraphEmulator
from bot.sandbox.world import World
from bot.slack import blocks
from storage.models import Conversation

HELP = """\
[bold]As an agent[/] (you are {agent}; [cyan]as anna|bruno|carla[/] to switch)
  [cyan]list[/]                     the conversations and their numbers
  [cyan]claim N[/] · [cyan]resolve N[/] · [cyan]reopen N[/] · [cyan]takeover N[/]
  [cyan]dm N[/]                     move conversation N to DM
  [cyan]say N text[/]               write in the thread of N (start with note: to keep it internal)
[bold]As a customer[/]
  [cyan]tweet handle text[/]        mention the brand on X
  [cyan]dm-from handle text[/]      send the brand a DM
  [cyan]comment name text[/]        comment under the Facebook Page's post
  [cyan]messenger name text[/]      write to the Page on Messenger
[bold]Other[/]
  [cyan]channel[/] shows the whole channel · [cyan]wait M[/] lets M minutes pass · [cyan]quit[/]"""

BUTTONS = {
    "claim": blocks.CLAIM,
    "resolve": blocks.RESOLVE,
    "reopen": blocks.REOPEN,
    "takeover": blocks.TAKE_OVER,
    "dm": blocks.MOVE_TO_DM,
}


class Repl:
    def __init__(self, world: World, view: ChannelView, console: Console) -> None:
        self.world, self.view, self.console = world, view, console
        self.agent = "UANNA"

    def run(self, commands: Iterable[str] | None = None) -> None:
        self.console.print(HELP.format(agent=AGENTS[self.agent]))
        for line in commands if commands is not None else self._prompt():
            if not self.handle(line):
                return

    def _prompt(self) -> Iterator[str]:
        while True:
            try:
                yield self.console.input(f"[bold]{AGENTS[self.agent]}[/] > ")
            except (EOFError, KeyboardInterrupt):
                return

    def handle(self, line: str) -> bool:
        """Run one command; False when it is time to stop."""
        try:
            words = shlex.split(line)
        except ValueError as error:
            self.console.print(f"[red]{error}[/]")
            return True
        if not words:
            return True
        command, args = words[0].lower(), words[1:]
        if command in ("quit", "exit"):
            return False
        action = self._commands().get(command)
        if action is None:
            self.console.print(f"[red]Unknown command {command!r}.[/] Type help.")
            return True
        try:
            action(args)
        except (LookupError, ValueError, RuntimeError) as error:
            self.console.print(f"[red]{error}[/]")
            return True
        self.world.clock.advance(timedelta(minutes=1))
        self.world.poll()
        if self.world.meta is not None:
            self.world.deliver()
        self.world.settle()
        self.view.show_changes()
        return True

    def _commands(self) -> dict[str, Callable[[list[str]], object]]:
        commands: dict[str, Callable[[list[str]], object]] = {
            "help": lambda _: self.console.print(HELP.format(agent=AGENTS[self.agent])),
            "as": self._switch,
            "list": lambda _: self.console.print(self._list()),
            "channel": lambda _: self.view.show_channel(),
            "say": self._say,
            "tweet": lambda a: self.world.mention(_handle(a), _text(a)),
            "dm-from": lambda a: self.world.direct_message(_handle(a), _text(a)),
            "comment": lambda a: self._page().comment(self._person(a), _text(a)),
            "messenger": lambda a: self._page().message(self._person(a), _text(a)),
            "wait": lambda a: self.world.clock.advance(timedelta(minutes=int(a[0]))),
        }
        for word, action_id in BUTTONS.items():
            commands[word] = partial(self._press, action_id)
        return commands

    def _page(self) -> GraphEmulator:
        if self.world.meta is None:
            raise LookupError("this demo has no Facebook Page")
        return self.world.meta

    def _person(self, args: list[str]) -> str:
        """The Facebook id of the person called args[0], made up the first time."""
        if len(args) < 2:
            raise ValueError("give a name and a text, e.g. messenger Elena ciao, una domanda")
        name = args[0].capitalize()
        known = {n.split()[0]: psid for psid, n in self.view.people.items()}
        if name not in known:
            psid = str(9_000_000_000_000_000 + len(self.view.people))
            self._page().add_user(psid, name)
            self.view.people[psid] = name
            known[name] = psid
        return known[name]

    def _switch(self, args: list[str]) -> None:
        wanted = {name.lower(): user for user, name in AGENTS.items()}
        if not args or args[0].lower() not in wanted:
            raise ValueError(f"agents are {', '.join(AGENTS.values())}")
        self.agent = wanted[args[0].lower()]

    def _say(self, args: list[str]) -> None:
        _, thread_ts = self._thread(args)
        self.world.reply_in_thread(self.agent, " ".join(args[1:]), thread_ts)

    def _press(self, action_id: str, args: list[str]) -> None:
        conversation_id, thread_ts = self._thread(args)
        # Like a click on the card (or on the private Take over button), whatever it shows now.
        self.world.click(self.agent, action_id, str(conversation_id), thread_ts)

    def _thread(self, args: list[str]) -> tuple[int, str]:
        """The id and Slack thread ts of the conversation numbered in `args`."""
        if not args or not args[0].isdigit():
            raise ValueError("give the conversation's number (see list)")
        with self.world.app.database.transaction() as session:
            conversation = session.get(Conversation, int(args[0]))
        if conversation is None or conversation.slack_thread_ts is None:
            raise LookupError(f"there is no conversation {args[0]} in the channel")
        return conversation.id, conversation.slack_thread_ts

    def _list(self) -> Table:
        table = Table("N", "customer", "where", "status", "owner")
        with self.world.app.database.transaction() as session:
            for c in session.scalars(select(Conversation).order_by(Conversation.id)):
                owner = self.view.user_names.get(c.assignee or "", c.assignee or "-")
                who = f"@{c.customer.handle}" if c.customer.handle else c.customer.name
                table.add_row(str(c.id), who, c.visibility, c.status, owner)
        return table


def _handle(args: list[str]) -> str:
    if len(args) < 2:
        raise ValueError("give a handle and a text, e.g. tweet giulia_r where is my parcel?")
    return args[0].lstrip("@")


def _text(args: list[str]) -> str:
    return " ".join(args[1:])
