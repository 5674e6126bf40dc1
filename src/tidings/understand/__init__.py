"""Understanding articles: entities, sections, embeddings and key points."""
