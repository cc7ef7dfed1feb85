"""AWS calls answered locally: boto3's own S3 and SageMaker clients, unchanged, against the
local store and callbacks; errors as AWS gives them; other calls refused naming them."""
from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from pipelines.local.aws_routing import LocalAws, LocalCallRefused, routed_to_local
from runtime.ports.local_callbacks import FileCallbacks, read_callback
from runtime.ports.object_store import LocalObjectStore


@pytest.fixture
def local(tmp_path):
    with routed_to_local(LocalAws(LocalObjectStore(tmp_path), FileCallbacks(tmp_path))) as aws:
        yield aws


@pytest.fixture
def s3():
    return boto3.client("s3", region_name="us-east-1")


class TestS3:
    def test_put_get_head_and_ranges(self, local, s3):
        s3.put_object(Bucket="b", Key="a/x.txt", Body=b"0123456789")
        assert local.store.read_bytes("s3://b/a/x.txt") == b"0123456789"
        assert s3.get_object(Bucket="b", Key="a/x.txt")["Body"].read() == b"0123456789"
        part = s3.get_object(Bucket="b", Key="a/x.txt", Range="bytes=2-4")
        assert (part["Body"].read(), part["ContentRange"]) == (b"234", "bytes 2-4/10")
        assert s3.get_object(Bucket="b", Key="a/x.txt", Range="bytes=-3")["Body"].read() == b"789"
        assert s3.head_object(Bucket="b", Key="a/x.txt")["ContentLength"] == 10

    def test_missing_objects_are_aws_errors(self, local, s3):
        with pytest.raises(ClientError) as missing:
            s3.get_object(Bucket="b", Key="nope")
        assert missing.value.response["Error"]["Code"] == "NoSuchKey"
        with pytest.raises(ClientError) as head:
            s3.head_object(Bucket="b", Key="nope")
        assert head.value.response["Error"]["Code"] == "404"

    def test_write_if_absent(self, local, s3):
        s3.put_object(Bucket="b", Key="once", Body=b"1", IfNoneMatch="*")
        with pytest.raises(ClientError) as again:
            s3.put_object(Bucket="b", Key="once", Body=b"2", IfNoneMatch="*")
        assert again.value.response["Error"]["Code"] == "PreconditionFailed"
        assert local.store.read_bytes("s3://b/once") == b"1"

    def test_listing_with_prefix_delimiter_and_pages(self, local, s3):
        for key in ("p/a", "p/b", "p/c/d", "p/c/e", "q/z"):
            s3.put_object(Bucket="b", Key=key, Body=b"x")
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket="b", Prefix="p/", Delimiter="/", PaginationConfig={"PageSize": 2})
        keys, prefixes = [], []
        for page in pages:
            keys += [item["Key"] for item in page.get("Contents", [])]
            prefixes += [item["Prefix"] for item in page.get("CommonPrefixes", [])]
        assert (keys, prefixes) == (["p/a", "p/b"], ["p/c/"])
        flat = s3.list_objects_v2(Bucket="b", Prefix="p/")
        assert [item["Key"] for item in flat["Contents"]] == ["p/a", "p/b", "p/c/d", "p/c/e"]

    def test_copy_delete_and_boto3_transfers(self, local, s3, tmp_path):
        source = tmp_path / "big.bin"
        source.write_bytes(b"ab" * (5 * 1024 * 1024))  # above the multipart threshold
        config = boto3.s3.transfer.TransferConfig(multipart_threshold=5 * 1024 * 1024)
        s3.upload_file(str(source), "b", "big.bin", Config=config)
        assert local.store.read_bytes("s3://b/big.bin") == source.read_bytes()
        s3.copy_object(Bucket="b", Key="copy.bin", CopySource={"Bucket": "b", "Key": "big.bin"})
        s3.download_file("b", "copy.bin", str(tmp_path / "back.bin"))
        assert (tmp_path / "back.bin").read_bytes() == source.read_bytes()
        s3.delete_objects(Bucket="b", Delete={"Objects": [{"Key": "big.bin"},
                                                         {"Key": "copy.bin"}]})
        assert local.store.list_uris("s3://b/") == []


class TestCallbacksAndRefusals:
    def test_step_success_reaches_the_local_callbacks(self, local, tmp_path):
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        sagemaker.send_pipeline_execution_step_success(
            CallbackToken="tok1234567", OutputParameters=[{"Name": "uri", "Value": "s3://b/k"}])
        assert read_callback(tmp_path, "tok1234567")["outputs"] == {"uri": "s3://b/k"}
        with pytest.raises(ClientError) as twice:
            sagemaker.send_pipeline_execution_step_failure(CallbackToken="tok1234567",
                                                           FailureReason="late")
        assert twice.value.response["Error"]["Code"] == "ConflictException"

    def test_any_other_call_is_refused_naming_it(self, local):
        with pytest.raises(LocalCallRefused, match=r"^dynamodb:ListTables is not available "
                                                   r"in a local run"):
            boto3.client("dynamodb", region_name="us-east-1").list_tables()

    def test_outside_the_block_nothing_is_routed(self, tmp_path):
        with routed_to_local(LocalAws(LocalObjectStore(tmp_path))):
            pass
        client = boto3.client("s3", region_name="us-east-1",
                              endpoint_url="http://127.0.0.1:9",  # nothing listens there
                              config=Config(retries={"max_attempts": 1}, connect_timeout=1))
        with pytest.raises(EndpointConnectionError):  # sent, not answered locally
            client.head_object(Bucket="b", Key="k")
