"""One package per social network (`x/`, ...): its adapter behind the one `SocialChannel`
Protocol (base.py), its text rules, settings, doctor checks and emulator; `registry.py` lists
them. Nothing outside a network's package knows that network by name."""
