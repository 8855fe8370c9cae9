"""The Starship Rewards API: URLs, signing, and (from the extract issue) the client."""
