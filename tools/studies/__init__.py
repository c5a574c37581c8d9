"""Studies behind the numbers in doc/: presets, operating points, keypoint precision, integer vs float,
motion diagnostics, learning curves. Each writes its table or figure; none is needed to use the codec."""


def report(name: str, run, a, title: str, what: str) -> int:
    """Run a study's ``run(a)``, print its Markdown and write it, under ``# title``, to ``a.Output`` when given;
    a project error (missing clip, damaged weights, bad option) is one line ``name: error: ...`` and status 1."""
    import sys
    from Utilities.errors import HdacError
    try:
        text = run(a)
    except HdacError as e:
        print(f"{name}: error: {e}", file=sys.stderr)
        return 1
    print(text)
    if getattr(a, "Output", ""):
        from Utilities.files import write_text
        write_text(a.Output, f"# {title}\n\n" + text, what)
    return 0
