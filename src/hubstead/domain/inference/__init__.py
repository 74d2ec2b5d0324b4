"""The inference API's rules: which task a request runs, what a valid request of each task
is, and the shape the Hub's clients expect back. Plain Python: the models run elsewhere
(services.inference)."""
