"""The Starship sandbox: a generated scenario served over HTTP, with faults on demand."""
