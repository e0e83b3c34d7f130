"""Why a lead scored what it did: per-lead feature contributions from the model's own trees.

Path attribution (Saabas): walking a lead down each tree, every split moves
the prediction from the node's value to the child's value, and that move is
credited to the split's feature. Summed over trees (times the tree weights)
the credits plus the root values add up exactly to the model's margin, so the
reasons explain this lead's score, not the model in general. Trees are read
once from the JVM when the model is trained and logged beside it as
``trees.json`` (a Spark Connect client has no JVM to walk them in), then
evaluated for a whole Arrow batch at a time with numpy.
The PCA components of the text embedding are reported together as one reason:
what the lead wrote.

Models trained with xgboost (the default where it is installed) are explained by xgboost's own
TreeSHAP (``pred_contribs``), which has the same additivity: contributions
plus bias equal the margin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column
from pyspark.sql import types as T
from pyspark.sql.functions import pandas_udf

TEXT_REASON = "what they wrote"
TREES_FILE = "trees.json"


@dataclass(frozen=True)
class Tree:
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    leaf: np.ndarray
    left_categories: dict[int, np.ndarray]
    depth: int


def is_spark_gbt(tree_model) -> bool:
    """Spark's own GBT (trees walked by leadlake), as opposed to xgboost (explained by its TreeSHAP)."""
    return type(tree_model).__name__ == "GBTClassificationModel"


def read_trees(gbt_model) -> tuple[list[Tree], np.ndarray]:
    """The GBT's trees as arrays, and their weights."""
    trees = []
    for t in gbt_model.trees:
        trees.append(_read_tree_java(t._java_obj.rootNode()))
    return trees, np.asarray(gbt_model.treeWeights, dtype=np.float64)


def trees_document(gbt_model) -> dict:
    """The GBT's trees as JSON-able lists, to log beside the model."""
    trees, weights = read_trees(gbt_model)
    return {"weights": weights.tolist(), "trees": [
        {"feature": t.feature.tolist(), "threshold": t.threshold.tolist(), "left": t.left.tolist(),
         "right": t.right.tolist(), "value": t.value.tolist(), "leaf": t.leaf.tolist(), "depth": t.depth,
         "left_categories": {str(k): v.tolist() for k, v in t.left_categories.items()}}
        for t in trees]}


def trees_from_document(doc: dict) -> tuple[list[Tree], np.ndarray]:
    trees = [Tree(np.asarray(t["feature"], dtype=int), np.asarray(t["threshold"], dtype=np.float64),
                  np.asarray(t["left"], dtype=int), np.asarray(t["right"], dtype=int),
                  np.asarray(t["value"], dtype=np.float64), np.asarray(t["leaf"], dtype=bool),
                  {int(k): np.asarray(v, dtype=np.float64) for k, v in t["left_categories"].items()},
                  int(t["depth"]))
             for t in doc["trees"]]
    return trees, np.asarray(doc["weights"], dtype=np.float64)


def _read_tree_java(root) -> Tree:
    """py4j returns a fresh proxy per call, so nodes are numbered while walking, not by identity."""
    feature, threshold, left, right, value, leaf, cats = [], [], [], [], [], [], {}
    depth_max = 0

    def visit(node, depth: int) -> int:
        nonlocal depth_max
        depth_max = max(depth_max, depth)
        i = len(value)
        value.append(node.prediction())
        feature.append(-1)
        threshold.append(0.0)
        left.append(-1)
        right.append(-1)
        internal = node.getClass().getSimpleName() == "InternalNode"
        leaf.append(not internal)
        if internal:
            split = node.split()
            feature[i] = split.featureIndex()
            if split.getClass().getSimpleName() == "CategoricalSplit":
                cats[i] = np.array(list(split.leftCategories()), dtype=np.float64)
            else:
                threshold[i] = split.threshold()
            left[i] = visit(node.leftChild(), depth + 1)
            right[i] = visit(node.rightChild(), depth + 1)
        return i

    visit(root, 0)
    return Tree(np.array(feature), np.array(threshold), np.array(left), np.array(right), np.array(value),
                np.array(leaf), cats, depth_max)


def contributions(x: np.ndarray, trees: Sequence[Tree], weights: np.ndarray) -> tuple[np.ndarray, float]:
    """(n x d contributions to the margin, bias); bias + row sums = the model's margin per row."""
    n, d = x.shape
    out = np.zeros((n, d))
    bias = 0.0
    for tree, w in zip(trees, weights, strict=True):
        node = np.zeros(n, dtype=int)
        bias += w * tree.value[0]
        for _ in range(tree.depth):
            rows = np.where(~tree.leaf[node])[0]
            if rows.size == 0:
                break
            nd = node[rows]
            f = tree.feature[nd]
            v = x[rows, f]
            go_left = v <= tree.threshold[nd]
            for cat_node, left_cats in tree.left_categories.items():
                at = nd == cat_node
                if at.any():
                    go_left[at] = np.isin(v[at], left_cats)
            child = np.where(go_left, tree.left[nd], tree.right[nd])
            np.add.at(out, (rows, f), w * (tree.value[child] - tree.value[nd]))
            node[rows] = child
    return out, bias


def margin_contributions(tree_model, saved: dict | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """x (n x d) -> each feature's contribution to the log-odds, for the trees of either trainer.

    ``saved``: the trees logged with the model (``trees.json``); without it
    they are read from the JVM model.
    """
    if is_spark_gbt(tree_model):
        trees, weights = trees_from_document(saved) if saved else read_trees(tree_model)
        # Spark's GBT probability is sigmoid(2 * margin): doubled, the credits are in log-odds.
        return lambda x: 2.0 * contributions(x, trees, weights)[0]
    booster = tree_model.get_booster()

    def tree_shap(x: np.ndarray) -> np.ndarray:
        import xgboost

        return booster.predict(xgboost.DMatrix(x, missing=np.nan), pred_contribs=True)[:, :-1]

    return tree_shap


def reasons_udf(contribute: Callable[[np.ndarray], np.ndarray], names: Sequence[str],
                labels: dict[str, Sequence[str]], top: int = 3):
    """features vector (as array<double>) -> the ``top`` reasons, strongest first, e.g. "seniority=vp (+0.41)"."""
    names = list(names)
    text_slots = [i for i, n in enumerate(names) if n.startswith("text_pc")]
    other_slots = [i for i, n in enumerate(names) if not n.startswith("text_pc")]

    def describe(i: int, value: float) -> str:
        name = names[i]
        if name in labels:
            cats = labels[name]
            shown = cats[int(value)] if 0 <= int(value) < len(cats) else "unseen"
            return f"{name}={shown}"
        return f"{name}={readable_value(value)}"

    @pandas_udf(T.ArrayType(T.StringType()))
    def reasons(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        for batch in batches:
            x = np.stack([np.asarray(v, dtype=np.float64) for v in batch]) if len(batch) else np.zeros((0, len(names)))
            contrib = contribute(x)
            grouped = contrib[:, other_slots]
            if text_slots:
                grouped = np.column_stack([grouped, contrib[:, text_slots].sum(axis=1)])
            out = []
            for r in range(len(x)):
                order = np.argsort(-np.abs(grouped[r]))[:top]
                row = []
                for j in order:
                    c = grouped[r, j]
                    if abs(c) < 1e-6:
                        continue
                    label = describe(other_slots[j], x[r, other_slots[j]]) if j < len(other_slots) else TEXT_REASON
                    row.append(f"{label} ({c:+.2f})")
                out.append(row)
            yield pd.Series(out)

    return reasons


def readable_value(value: float) -> str:
    """A feature value as a salesperson reads it: 120, 40,000, 0.333, 1.2e-04 (never 0.333333, which reads
    as a phone number to people and to the privacy scan alike).

    First to 12 significant digits: a sum over partitions in another order
    differs in the last bits (238.49999999999997 or 238.50000000000003), and
    printed to the unit that would read 238 in one run and 239 in the next.
    """
    value = float(f"{value:.12g}")
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if float(value).is_integer():
        return str(int(value))
    if abs(value) < 0.01:
        return f"{value:.1e}"
    return f"{value:.3g}"


def top_reasons(features: Column, udf) -> Column:
    return udf(vector_to_array(features))
