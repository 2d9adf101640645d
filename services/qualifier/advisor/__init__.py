"""The policy advisor: which change sales' reasons call for, as backtested, reviewable suggestions.

  patch.py       the exact YAML edit of one rule (or its removal) with a bumped version, and its diff (pure)
  candidates.py  the bounded set of candidate edits a policy admits (pure)
  account_candidates.py  the same for account rules (MQA) (pure)
  backtest.py    one pass over the log folded under the baseline and every candidate: the lab's fold (pure)
  account_backtest.py    the lab's account pass under the baseline and every account-rule candidate (pure)
  suggest.py     statistics per rule, filtering, ranking, sentences: the advice as plain data (pure)
  render.py      the advice as a terminal table or Markdown (pure)
  commands.py    `leadstate policy suggest`

Nothing here writes a policy: a suggestion is a sentence and a patch for the reviewed pull request.
"""
