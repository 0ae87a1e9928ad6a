"""Evidently and NannyML timed on one window's rows (run by bench.peers with the peers' venv).

    .venv-peers/bin/python bench/peers_compute.py '{"url": …, "version": …, "start": …, …}'

Standalone on purpose (stdlib, psycopg2, pandas and the peers only): it runs under another
interpreter than the site. Reads the window's labelled predictions from PostgreSQL into a
DataFrame first (timed apart), then times, in memory, Evidently's report of the five
classification metrics (accuracy, precision, recall, F1, ROC AUC) and NannyML's realized
performance (PerformanceCalculator, the same five, one chunk), each repeated, median. Their
values are returned too, to check that everyone computed the same figures. Prints JSON.
"""
import json
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore")


def _timed(fn, repeat):
    fn()  # warm-up (first-call imports and caches)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def main():
    args = json.loads(sys.argv[1])
    import numpy as np
    import pandas as pd
    import psycopg2

    started = time.perf_counter()
    conn = psycopg2.connect(args["url"])
    with conn.cursor() as cur:
        cur.execute(
            "SELECT timestamp, predicted_outcome, confidence, actual_outcome "
            "FROM predictions_prediction WHERE model_version = %s AND timestamp >= %s "
            "AND timestamp < %s AND actual_outcome IS NOT NULL ORDER BY timestamp",
            (args["version"], args["start"], args["end"]))
        rows = cur.fetchall()
    conn.close()
    frame = pd.DataFrame(rows, columns=["timestamp", "predicted", "confidence", "target"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    # The class-1 probability, as the site scores a prediction for the ROC AUC.
    frame["proba"] = np.where(frame["predicted"] == 1, frame["confidence"],
                              1.0 - frame["confidence"])
    read_s = time.perf_counter() - started
    out = {"rows": len(frame), "read_seconds": read_s, "versions": {}}
    repeat = args["repeat"]

    import evidently
    from evidently import BinaryClassification, DataDefinition, Dataset, Report
    from evidently.metrics import Accuracy as EvidentlyAccuracy
    from evidently.metrics import F1Score, Precision, Recall, RocAuc

    out["versions"]["evidently"] = evidently.__version__
    definition = DataDefinition(
        classification=[BinaryClassification(
            target="target", prediction_labels="predicted", prediction_probas="proba")],
        numerical_columns=["proba"])
    columns = frame[["target", "predicted", "proba"]]
    evidently_values = {}

    def evidently_report():
        dataset = Dataset.from_pandas(columns, data_definition=definition)
        snapshot = Report([EvidentlyAccuracy(), Precision(), Recall(), F1Score(),
                           RocAuc()]).run(dataset, None)
        for metric in snapshot.dict()["metrics"]:
            evidently_values[metric["config"]["type"].rsplit(":", 1)[-1]] = metric["value"]

    samples = _timed(evidently_report, repeat)
    out["evidently"] = {"p50": statistics.median(samples), "runs": len(samples),
                        "values": evidently_values}

    import nannyml

    out["versions"]["nannyml"] = nannyml.__version__
    names = ["roc_auc", "f1", "precision", "recall", "accuracy"]

    def calculator():
        return nannyml.PerformanceCalculator(
            y_pred_proba="proba", y_pred="predicted", y_true="target",
            timestamp_column_name="timestamp", problem_type="classification_binary",
            metrics=names, chunk_number=1)

    fitted = calculator().fit(frame)
    nannyml_values = {}

    def realized():
        result = fitted.calculate(frame).filter(period="analysis").to_df()
        for name in names:
            nannyml_values[name] = float(result[(name, "value")].iloc[0])

    samples = _timed(realized, repeat)
    fit_samples = _timed(lambda: calculator().fit(frame), max(1, repeat // 2))
    out["nannyml"] = {"p50": statistics.median(samples), "runs": len(samples),
                      "fit_p50": statistics.median(fit_samples), "values": nannyml_values}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
