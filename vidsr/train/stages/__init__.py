"""The staged training of the paper, one module per stage, in the order they run:

1. ``generator``  G and D, StyleGAN's non-saturating loss with R1 (section 3.1)
2. ``highres``    E_h inverts the frozen G, eq. (1) (section 3.2)
3. ``lowres``     E_l regresses E_h's codes from 8x8 faces on D1, eq. (2) (section 3.3)
4. ``audio``      E_a regresses the flip-averaged E_h codes from the voice on D1, eq. (3)
5. ``fusion``     F (and E_a fine-tuned) on D2, eq. (4) (section 3.4)

and ours: ``classifiers`` (C_g, C_i: the gender terms of fusion and fidelity, and evaluation
judges), ``fidelity`` (R on the exported G, E_l, E_a, F), ``lapsrn`` (a baseline).
``vidsr train --stage all`` runs :data:`vidsr.models.runs.RECIPE_ORDER`.
"""

from vidsr.models.runs import STAGE_ORDER  # noqa: F401 (defined with the run-folder layout)
