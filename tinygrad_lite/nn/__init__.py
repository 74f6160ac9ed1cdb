"""Neural-network building blocks: see ``nn.scalar`` for the book's scalar classes."""
