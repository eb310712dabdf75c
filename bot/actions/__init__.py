"""Custom actions served by ``python -m rasa_sdk --actions bot.actions``.

Actions are thin adapters: they translate between rasa-sdk and one library call.
Submodules are split by conversational area.
"""
