"""Pure RL math: no Ray, no I/O, importable and unit-tested on its own.

returns.py (GAE) and numpy_model.py (the network's forward pass and loss gradient) use numpy only,
so worker processes can import them without torch; losses.py is the torch reference of the loss.
"""
