"""Training sets: where the faces come from (:mod:`~vidsr.data.sources`), the D1 / D2 / test
split (:mod:`~vidsr.data.splits`), what was made (:mod:`~vidsr.data.summary`), the two
drivers of ``vidsr prepare`` (:mod:`~vidsr.data.photos`, :mod:`~vidsr.data.videos`), the
prepared set on disk (:mod:`~vidsr.data.shards`) and the voices (real, made)."""

HR_SIZE = 128  # side of a prepared set's high-resolution faces, by default (vidsr prepare --hr-size)
