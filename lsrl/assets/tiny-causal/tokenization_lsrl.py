"""An lsrl checkpoint's tokenizer, for `AutoTokenizer` with `trust_remote_code=True`."""
from transformers import TokenizersBackend


class LsrlTokenizer(TokenizersBackend):
    "No constructor of its own: transformers loads tokenizer.json whole (normalizer, pre-tokenizer, merges, decoder)."
