"""One module per feature; ``bot.app`` wires them."""
