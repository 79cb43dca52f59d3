"""What TechConnect knows: technology offers and requests, their taxonomy and storage."""
