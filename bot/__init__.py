"""How people talk to TechConnect: the Telegram bot, its emulator and the command line."""
