"""The policy lab: what a changed MQL policy would have done on the stored history, joined with the
sales decisions recorded in it, and the change itself in words.

  fold.py      one pass over log entries, folded under two policies (pure)
  join.py      simulated MQLs matched to recorded sales decisions; the Wilson interval (pure)
  report.py    `build_report`: the report as plain data, for the CLI, the API and the console (pure)
  render.py    the report as a terminal table or Markdown (pure)
  diff.py      `describe_changes`: two policies' differences in sentences (pure)
  source.py    reading the stored log: one snapshot, partitions by lead over processes (IO)
  simulate.py  `simulate`: policies in, report out (the one application function)
  commands.py  `leadstate policy simulate` and `leadstate policy diff`

Kept import-free here so that `leadstate --help` stays light.
"""
