"""What each reference function takes: positional arrays, drawn keyword inputs, default options."""

from __future__ import annotations

_PAIR4 = ("chosen_logps", "rejected_logps", "ref_chosen_logps", "ref_rejected_logps")
_LENGTHS = {"chosen_lengths": "lengths", "rejected_lengths": "lengths"}
_REWARDS = {"chosen_rewards": "rewards", "rejected_rewards": "rewards"}

#: name -> dict(kind, arrays, extras, defaults, optional)
#:   kind: "pair" (n,), "pair2" (n,) without reference, "single" (n,), "list" (n, K),
#:         "tokens" (B, T), "groups" (P, G), "seq_tokens" rewards (B,) + mask (B, T)
#:   extras: keyword inputs drawn with the arrays, name -> what to draw
#:   defaults: options that make a call valid
#:   optional: extras the caller may ask for with ``extra=(...)``
SPECS: dict[str, dict] = {}


def _add(names, kind, arrays, extras=None, defaults=None, optional=None):
    for n in names:
        SPECS[n] = dict(kind=kind, arrays=arrays, extras=dict(extras or {}),
                        defaults=dict(defaults or {}), optional=dict(optional or {}))


_add(["dpo", "sigmoid", "hinge", "nca_pair", "bco_pair", "sppo_hard", "apo_zero", "apo_down",
      "aot", "aot_unpaired"], "pair", _PAIR4, defaults=dict(beta=0.1))
_add(["robust", "robust_dpo"], "pair", _PAIR4, defaults=dict(beta=0.1, label_smoothing=0.1))
_add(["cdpo"], "pair", _PAIR4, defaults=dict(beta=0.1, label_smoothing=0.1))
_add(["exo_pair"], "pair", _PAIR4, defaults=dict(beta=0.1, label_smoothing=1e-3))
_add(["discopop"], "pair", _PAIR4, defaults=dict(beta=0.1, tau=0.05))
_add(["ipo"], "pair", _PAIR4, defaults=dict(beta=0.1), optional=_LENGTHS)
_add(["sigmoid_norm"], "pair", _PAIR4, extras=_LENGTHS, defaults=dict(beta=0.1))
_add(["sppo"], "pair", _PAIR4, extras={"chosen_win_prob": "probs", "rejected_win_prob": "probs"},
     defaults=dict(beta=0.1))
_add(["rebel"], "pair", _PAIR4, extras=_REWARDS, defaults=dict(eta=1.0))
_add(["dno"], "pair", _PAIR4, extras=_REWARDS, defaults=dict(beta=0.1))
_add(["simpo"], "pair2", ("chosen_logps", "rejected_logps"), extras=_LENGTHS,
     defaults=dict(beta=2.0, gamma=0.5))
_add(["orpo"], "pair2", ("chosen_logps", "rejected_logps"), extras=_LENGTHS,
     defaults=dict(beta=0.1))
_add(["kto"], "single", ("policy_logps", "ref_logps"), extras={"desirable": "bool"},
     defaults=dict(beta=0.1, reference_point=0.0))
_add(["pmpo"], "single", ("policy_logps", "ref_logps"), extras={"accepted": "bool"},
     defaults=dict(alpha=0.5, beta=0.1))
_add(["dro"], "single", ("policy_logps", "ref_logps", "values"), extras={"rewards": "values"},
     defaults=dict(beta=0.1))
_add(["plackett_luce_dpo"], "list", ("policy_logps", "ref_logps"), defaults=dict(beta=0.1),
     optional={"ranking": "ranking"})
_add(["exo", "dpo_k"], "list", ("policy_logps", "ref_logps"), extras={"rewards": "list_rewards"},
     defaults=dict(beta=0.1))
_add(["kl_estimate"], "tokens", ("logp", "ref_logp"), defaults=dict(kind="k3"))
_add(["aggregate"], "tokens", ("token_losses", "mask"), defaults=dict(mode="token-mean"))
_add(["ppo_clip_loss", "cispo_loss"], "tokens", ("logp", "old_logp", "advantages", "mask"),
     defaults=dict(mode="token-mean"))
_add(["grpo_advantages", "rloo_advantages"], "groups", ("rewards",))
_add(["reinforce_pp_advantages"], "tokens", ("token_rewards", "mask"))
_add(["remax_advantages"], "seq_tokens", ("rewards", "greedy_rewards", "mask"))
