"""Iara's Rasa bot: training data in bot/data, custom actions in bot/actions."""
