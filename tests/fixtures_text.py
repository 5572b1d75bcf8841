"""The short story the test fixtures train on.

The trained checkpoint memorises it, so tests can check predictable
continuations: "The dragon flew over the mountain." recurs on purpose.
"""

TRAIN_TEXT = """\
The dragon flew over the mountain. Below, the village slept; only the miller's dog was awake, and it barked twice.

"Did you see it?" asked Mira, pulling her cloak tight. "It was gold - no, copper - and it was huge!"

Her brother shrugged. "I saw nothing but clouds." But he was lying, and they both knew it.

The dragon flew over the mountain. It circled the old tower (the one with the broken bell) and landed on the frozen lake.

Mira ran down the path: past the well, past the bakery, past the inn where the travellers sang. Her heart was loud in her ears.

At the shore she stopped. The ice cracked... then held. The dragon turned its great head and looked at her with eyes like lanterns.

"Who are you?" she whispered.

"A friend," said the dragon, "if you are brave enough to keep a secret."

The dragon flew over the mountain. And this time, Mira flew with it.
"""
