"""Fixture training job: copy every channel into the model; pass a layer's topic summary on.

A `summary` channel's topic_summary.json goes to SM_OUTPUT_DATA_DIR, as a topic layer's job
writes it. With FIXTURE_PID_FILE set the job records its pid there first; with
FIXTURE_HOLD_SECONDS it then sleeps that long (a long job to stop or kill).
"""
import json
import os
import pathlib
import shutil
import time


def main() -> None:
    pid_file = os.environ.get("FIXTURE_PID_FILE")
    if pid_file:
        pathlib.Path(pid_file).write_text(str(os.getpid()))
    time.sleep(float(os.environ.get("FIXTURE_HOLD_SECONDS") or 0))
    model_dir = pathlib.Path(os.environ["SM_MODEL_DIR"])
    for channel in json.loads(os.environ["SM_CHANNELS"]):
        source = pathlib.Path(os.environ[f"SM_CHANNEL_{channel.upper()}"])
        shutil.copytree(source, model_dir / channel, dirs_exist_ok=True)
    summary = pathlib.Path(os.environ.get("SM_CHANNEL_SUMMARY", "/nonexistent"),
                           "topic_summary.json")
    if summary.is_file():
        shutil.copyfile(summary, pathlib.Path(os.environ["SM_OUTPUT_DATA_DIR"],
                                              "topic_summary.json"))
    print("relayed channels:", ", ".join(json.loads(os.environ["SM_CHANNELS"])))


if __name__ == "__main__":
    main()
