"""Evaluation as in the paper's section 4.3: ``evaluate(data, weights, runs, out, ...)``.

Modules: ``run`` (the two passes and ``evaluate``), ``rows`` (what each table row
generates), ``networks`` (the networks gathered from --weights and --runs), ``judges``
(C_g/C_i and the optional pretrained gender judge and face embedder), ``metrics``
(PSNR, SSIM), ``classifier`` and ``lapsrn`` (the networks of the classifiers and lapsrn
training stages), ``figures`` (Figs. 3-5), ``report`` (report.md, report.json).
"""


def evaluate(*args, **kwargs):
    """See :func:`vidsr.eval.run.evaluate`."""
    from vidsr.eval.run import evaluate as run

    return run(*args, **kwargs)
