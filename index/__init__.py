"""How TechConnect finds things: normalisation, embeddings, the FAISS store and hybrid search."""
