"""The desktop program's library layer (no Qt here): metadata in files, index, search.

The GUI and the `zsl-tagger` command line both sit on top of these modules, so everything a
user can do is scriptable and testable without a display.
"""
