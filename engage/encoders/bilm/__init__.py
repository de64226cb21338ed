"""Our own ELMo biLM: character ids, model, official weights, encoder, pretraining, export."""
