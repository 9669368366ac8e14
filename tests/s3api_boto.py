#!/usr/bin/env python3
"""boto3 edge cases of the S3 endpoint, for tests/t21-s3api.sh.

The endpoint, bucket, keys... come in S3_* variables (see the test).
Prints one line per check: "PASS name" or "FAIL name: why".
"""
import concurrent.futures
import hashlib
import os
import subprocess
import sys
import time
import urllib.request
import urllib.error

import boto3
import botocore
from botocore.config import Config

env = os.environ
ep, bucket, other = env["T21_EP"], env["T21_BUCKET"], env["T21_OTHER"]
akid, secret = env["T21_AKA"], env["T21_SKA"]


def client(sec=secret, ak=None):
    return boto3.client(
        "s3", endpoint_url=ep, aws_access_key_id=ak or akid,
        aws_secret_access_key=sec, region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                      retries={"max_attempts": 1}, read_timeout=600))


s3 = client()


T0 = time.time()


def check(name, cond, why=""):
    print("%.1f" % (time.time() - T0), name, file=sys.stderr)
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + str(why)))


def code_of(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    return "no error"


# --- delimiter listing
for k in ["d/a.txt", "d/b.txt", "d/sub/c.txt", "d/sub/d.txt", "d/x/e.txt"]:
    s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
r = s3.list_objects_v2(Bucket=bucket, Prefix="d/", Delimiter="/")
check("delimiter: keys", [o["Key"] for o in r.get("Contents", [])] == ["d/a.txt", "d/b.txt"], r)
check("delimiter: common prefixes",
      [p["Prefix"] for p in r.get("CommonPrefixes", [])] == ["d/sub/", "d/x/"], r)
r = s3.list_objects_v2(Bucket=bucket, Prefix="d/", Delimiter="/", MaxKeys=3)
check("delimiter page 1 truncated", r["IsTruncated"] and r["KeyCount"] == 3, r)
r2 = s3.list_objects_v2(Bucket=bucket, Prefix="d/", Delimiter="/",
                        ContinuationToken=r["NextContinuationToken"])
check("delimiter page 2 holds the rest",
      [p["Prefix"] for p in r2.get("CommonPrefixes", [])] == ["d/x/"] and
      "Contents" not in r2, r2)
r = s3.list_objects_v2(Bucket=bucket, Prefix="d/", StartAfter="d/b.txt")
check("start-after", [o["Key"] for o in r["Contents"]][0] == "d/sub/c.txt", r)
r = s3.list_objects(Bucket=bucket, Prefix="d/", Delimiter="/", MaxKeys=2)
check("v1 list: marker paging", r["IsTruncated"] and r["NextMarker"] == "d/b.txt", r)
r = s3.list_objects(Bucket=bucket, Prefix="d/", Delimiter="/", Marker="d/b.txt")
check("v1 list: next page", [p["Prefix"] for p in r.get("CommonPrefixes", [])] == ["d/sub/", "d/x/"], r)

# --- pagination over 2,500 keys: the 1,000 of the tree awscli synced,
# and 1,500 more, which DeleteObjects removes again
tree = ["tree/d%d/f%02d.txt" % (d, i) for d in range(10) for i in range(100)]
keys = ["tree/p/%04d" % i for i in range(1500)]
with concurrent.futures.ThreadPoolExecutor(max(1, int(env["T21_THREADS"]) // 2)) as ex:
    list(ex.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=b"x"), keys))
seen = []
pages = 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="tree/"):
    pages += 1
    seen += [o["Key"] for o in page.get("Contents", [])]
check("pagination: 2,500 keys in order", seen == sorted(tree + keys), len(seen))
check("pagination: 3 pages of at most 1000", pages == 3, pages)
for i in range(0, 1500, 1000):
    r = s3.delete_objects(Bucket=bucket, Delete={
        "Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})
    check("DeleteObjects quiet %d" % i, not r.get("Errors") and not r.get("Deleted"), r)
r = s3.list_objects_v2(Bucket=bucket, Prefix="tree/p/")
check("DeleteObjects removed them all", r["KeyCount"] == 0, r)
r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "d/a.txt"}, {"Key": "nope"}]})
check("DeleteObjects verbose", sorted(d["Key"] for d in r["Deleted"]) == ["d/a.txt", "nope"], r)

# --- metadata, conditional GETs, ranges, overrides
body = b"0123456789" * 100
md5 = hashlib.md5(body).hexdigest()
r = s3.put_object(Bucket=bucket, Key="c/obj.bin", Body=body, ContentType="text/plain",
                  Metadata={"colour": "blue", "x-y": "z"})
check("PutObject ETag is the MD5", r["ETag"] == '"%s"' % md5, r["ETag"])
h = s3.head_object(Bucket=bucket, Key="c/obj.bin")
check("HeadObject: size, type, ETag", h["ContentLength"] == 1000 and
      h["ContentType"] == "text/plain" and h["ETag"] == '"%s"' % md5, h)
check("HeadObject: user metadata", h["Metadata"] == {"colour": "blue", "x-y": "z"}, h["Metadata"])
g = s3.get_object(Bucket=bucket, Key="c/obj.bin", Range="bytes=10-19")
check("Range", g["Body"].read() == b"0123456789" and g["ContentRange"] == "bytes 10-19/1000", g)
check("InvalidRange", code_of(lambda: s3.get_object(Bucket=bucket, Key="c/obj.bin",
                                                    Range="bytes=5000-")) == "InvalidRange")
check("If-None-Match: 304", code_of(lambda: s3.get_object(
    Bucket=bucket, Key="c/obj.bin", IfNoneMatch='"%s"' % md5)) == "304")
check("If-Match mismatch: 412", code_of(lambda: s3.get_object(
    Bucket=bucket, Key="c/obj.bin", IfMatch='"nope"')) == "PreconditionFailed")
g = s3.get_object(Bucket=bucket, Key="c/obj.bin", IfMatch='"%s"' % md5)
check("If-Match match: 200", g["Body"].read() == body)
check("If-Modified-Since later: 304", code_of(lambda: s3.get_object(
    Bucket=bucket, Key="c/obj.bin", IfModifiedSince=time.time() + 3600)) == "304")
g = s3.get_object(Bucket=bucket, Key="c/obj.bin", ResponseContentType="application/x-test",
                  ResponseContentDisposition='attachment; filename="o.bin"',
                  ResponseCacheControl="no-cache")
check("response-content-* overrides", g["ContentType"] == "application/x-test" and
      g["ContentDisposition"] == 'attachment; filename="o.bin"' and
      g["CacheControl"] == "no-cache", g)
check("NoSuchKey", code_of(lambda: s3.get_object(Bucket=bucket, Key="c/none")) == "NoSuchKey")
check("BadDigest (Content-MD5)", code_of(lambda: s3.put_object(
    Bucket=bucket, Key="c/bad", Body=b"abc", ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")) == "BadDigest")
check("BadDigest leaves no object",
      code_of(lambda: s3.head_object(Bucket=bucket, Key="c/bad")) == "404")

# --- CopyObject
r = s3.copy_object(Bucket=bucket, Key="c/copy.bin", CopySource={"Bucket": bucket, "Key": "c/obj.bin"})
check("CopyObject ETag", r["CopyObjectResult"]["ETag"] == '"%s"' % md5, r)
h = s3.head_object(Bucket=bucket, Key="c/copy.bin")
check("CopyObject keeps type and metadata", h["ContentType"] == "text/plain" and
      h["Metadata"] == {"colour": "blue", "x-y": "z"}, h)
s3.copy_object(Bucket=bucket, Key="c/copy.bin", CopySource={"Bucket": bucket, "Key": "c/obj.bin"},
               MetadataDirective="REPLACE", ContentType="image/x-new", Metadata={"a": "b"})
h = s3.head_object(Bucket=bucket, Key="c/copy.bin")
check("CopyObject REPLACE", h["ContentType"] == "image/x-new" and h["Metadata"] == {"a": "b"}, h)
check("CopyObject of a missing key", code_of(lambda: s3.copy_object(
    Bucket=bucket, Key="c/x", CopySource={"Bucket": bucket, "Key": "c/none"})) == "NoSuchKey")

# --- multipart: aborts, ListParts, EntityTooSmall, InvalidPart, UploadPartCopy
mp = s3.create_multipart_upload(Bucket=bucket, Key="m/a.bin", Metadata={"m": "1"})
uid = mp["UploadId"]
p1 = s3.upload_part(Bucket=bucket, Key="m/a.bin", UploadId=uid, PartNumber=1, Body=b"a" * 100)
p2 = s3.upload_part(Bucket=bucket, Key="m/a.bin", UploadId=uid, PartNumber=2, Body=b"b" * 100)
lp = s3.list_parts(Bucket=bucket, Key="m/a.bin", UploadId=uid)
check("ListParts", [p["PartNumber"] for p in lp["Parts"]] == [1, 2], lp)
ups = s3.list_multipart_uploads(Bucket=bucket)
check("ListMultipartUploads", [u["UploadId"] for u in ups.get("Uploads", [])] == [uid], ups)
parts = [{"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]
check("EntityTooSmall", code_of(lambda: s3.complete_multipart_upload(
    Bucket=bucket, Key="m/a.bin", UploadId=uid, MultipartUpload={"Parts": parts})) == "EntityTooSmall")
check("InvalidPart", code_of(lambda: s3.complete_multipart_upload(
    Bucket=bucket, Key="m/a.bin", UploadId=uid,
    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"00"'}]})) == "InvalidPart")
s3.abort_multipart_upload(Bucket=bucket, Key="m/a.bin", UploadId=uid)
check("Abort: the upload is gone", code_of(lambda: s3.list_parts(
    Bucket=bucket, Key="m/a.bin", UploadId=uid)) == "NoSuchUpload")
check("Abort: no object", code_of(lambda: s3.head_object(Bucket=bucket, Key="m/a.bin")) == "404")

big = bytes(range(256)) * (6 * 4096)     # 6 MiB
s3.put_object(Bucket=bucket, Key="m/src.bin", Body=big)
mp = s3.create_multipart_upload(Bucket=bucket, Key="m/b.bin", ContentType="video/x-test",
                                Metadata={"m": "2"})
uid = mp["UploadId"]
c1 = s3.upload_part_copy(Bucket=bucket, Key="m/b.bin", UploadId=uid, PartNumber=1,
                         CopySource={"Bucket": bucket, "Key": "m/src.bin"})
p2 = s3.upload_part(Bucket=bucket, Key="m/b.bin", UploadId=uid, PartNumber=2, Body=b"tail")
r = s3.complete_multipart_upload(Bucket=bucket, Key="m/b.bin", UploadId=uid, MultipartUpload={
    "Parts": [{"PartNumber": 1, "ETag": c1["CopyPartResult"]["ETag"]},
              {"PartNumber": 2, "ETag": p2["ETag"]}]})
want = hashlib.md5(hashlib.md5(big).digest() + hashlib.md5(b"tail").digest()).hexdigest() + "-2"
check("Complete: ETag md5-of-md5s-N", r["ETag"] == '"%s"' % want, r)
g = s3.get_object(Bucket=bucket, Key="m/b.bin")
check("Complete: bytes", g["Body"].read() == big + b"tail")
check("Complete: type and metadata", g["ContentType"] == "video/x-test" and g["Metadata"] == {"m": "2"}, g)
check("Complete: no upload left", not s3.list_multipart_uploads(Bucket=bucket).get("Uploads"))

# --- multipart on disk: parts written into one assembly file at their
# offsets, published by Complete without a copy when they line up
# (docs/s3api.md, "Performance"); a copy otherwise.
MIB5 = 5 << 20
DATA, DB = env.get("FILESTOR_DATA_DIR"), env.get("FILESTOR_DB")
ON_DISK = env.get("STORE", "local") != "s3" and not env.get("S3_BUCKET") and DATA and DB


def assembly(uid):
    """The upload's assembly file (path, inode), or (None, None)."""
    import sqlite3
    con = sqlite3.connect(DB, timeout=30)
    row = con.execute("SELECT assembly FROM s3_uploads WHERE id = ?", (uid,)).fetchone()
    con.close()
    if not row or not row[0]:
        return None, None
    path = os.path.join(DATA, ".tmp", row[0])
    return path, os.stat(path).st_ino if os.path.exists(path) else None


def inode_published(ino):
    for d, _, fs in os.walk(os.path.join(DATA, "tenants")):
        for f in fs:
            if os.stat(os.path.join(d, f)).st_ino == ino:
                return True
    return False


def mp_run(key, sends, chosen):
    """Upload the parts sends ([(number, bytes)], in that order, later
    ones replacing earlier), complete with the numbers chosen: (the
    object's expected bytes and ETag, the Complete answer, the assembly
    path and inode just before Complete)."""
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    last = {}
    for n, data in sends:
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=data)
        last[n] = (data, r["ETag"])
    path, ino = assembly(uid) if ON_DISK else (None, None)
    r = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": last[n][1]} for n in chosen]})
    want = b"".join(last[n][0] for n in chosen)
    etag = hashlib.md5(b"".join(hashlib.md5(last[n][0]).digest() for n in chosen)).hexdigest()
    return want, '"%s-%d"' % (etag, len(chosen)), r, path, ino


def mp_check(name, key, sends, chosen, in_place):
    want, etag, r, path, ino = mp_run(key, sends, chosen)
    got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    check(name + ": bytes", got == want, (len(got), len(want)))
    check(name + ": ETag", r["ETag"] == etag, (r["ETag"], etag))
    if ON_DISK:
        check(name + ": assembly file gone", path is not None and not os.path.exists(path), path)
        check(name + (": published without a copy" if in_place else ": copied"),
              ino is not None and inode_published(ino) == in_place, (path, ino))


A, B, C = b"A" * MIB5, b"B" * MIB5, b"C" * MIB5
mp_check("mp out of order", "m/ooo.bin", [(2, B), (3, b"tail"), (1, A)], [1, 2, 3], True)
mp_check("mp re-uploaded part", "m/again.bin", [(1, A), (2, B), (1, C), (3, b"end")],
         [1, 2, 3], True)
mp_check("mp re-uploaded part, other size", "m/again2.bin",
         [(1, A), (2, B), (2, B + b"x"), (3, b"end")], [1, 2, 3], False)
mp_check("mp non-uniform sizes", "m/uneven.bin", [(1, A), (2, B + b"more"), (3, b"end")],
         [1, 2, 3], False)
mp_check("mp subset of parts", "m/subset.bin", [(1, A), (2, B), (3, C)], [1, 2], False)
mp = s3.create_multipart_upload(Bucket=bucket, Key="m/gone.bin")
s3.upload_part(Bucket=bucket, Key="m/gone.bin", UploadId=mp["UploadId"], PartNumber=1, Body=A)
path, ino = assembly(mp["UploadId"]) if ON_DISK else (None, None)
check("mp: an upload on disk has its assembly file", not ON_DISK or ino is not None, path)
s3.abort_multipart_upload(Bucket=bucket, Key="m/gone.bin", UploadId=mp["UploadId"])
check("mp: Abort leaves no assembly file", not ON_DISK or not os.path.exists(path), path)

# --- credentials
bad = client("0" * 64)
check("wrong secret: SignatureDoesNotMatch",
      code_of(lambda: bad.list_objects_v2(Bucket=bucket)) == "SignatureDoesNotMatch")
check("wrong secret on PUT: no object", code_of(lambda: bad.put_object(
    Bucket=bucket, Key="c/evil", Body=b"x")) == "SignatureDoesNotMatch" and
    code_of(lambda: s3.head_object(Bucket=bucket, Key="c/evil")) == "404")
url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "c/obj.bin"},
                                ExpiresIn=1)
time.sleep(2)
try:
    urllib.request.urlopen(url)
    check("expired presign: 403", False, "200")
except urllib.error.HTTPError as e:
    check("expired presign: 403 AccessDenied", e.code == 403 and b"AccessDenied" in e.read(), e.code)
url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "c/obj.bin"},
                                ExpiresIn=300)
check("presign GET", urllib.request.urlopen(url).read() == body)
try:
    urllib.request.urlopen(url.replace("c/obj.bin", "c/copy.bin"))
    check("presign for another key: refused", False)
except urllib.error.HTTPError as e:
    check("presign for another key: SignatureDoesNotMatch", e.code == 403 and
          b"SignatureDoesNotMatch" in e.read(), e.code)
check("another tenant's bucket: AccessDenied",
      code_of(lambda: s3.list_objects_v2(Bucket=other)) == "AccessDenied")
check("no such bucket", code_of(lambda: s3.list_objects_v2(Bucket="nobucket-" + bucket)) == "NoSuchBucket")
check("HeadBucket", s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200)
check("ListBuckets", [b["Name"] for b in s3.list_buckets()["Buckets"]] == [bucket])
check("GetBucketLocation", s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") in (None, ""))

# --- aws-chunked, signed chunk by chunk (no Debian client sends it over
# plain HTTP): the request is signed by botocore, the chunks here, as the
# S3 reference says (seed signature, then one per chunk).
import hmac
import urllib.parse
import http.client
import base64
import zlib
import struct
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def body_of(key):
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except botocore.exceptions.ClientError:
        return None


def chunked_put(key, data, sizes, mode, tamper=None, sec=secret):
    url = "%s/%s/%s" % (ep, bucket, key)
    enc = len(data)
    hdrs = {"x-amz-decoded-content-length": str(enc), "content-encoding": "aws-chunked"}
    if mode == "signed":
        hdrs["X-Amz-Content-SHA256"] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    else:
        hdrs["X-Amz-Content-SHA256"] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
        hdrs["x-amz-trailer"] = "x-amz-checksum-crc32"
    req = AWSRequest(method="PUT", url=url, headers=hdrs)
    # SigV4Auth, not S3SigV4Auth, which would replace the payload header
    # with the hash of the (empty) request body.
    SigV4Auth(Credentials(akid, sec), "s3", "us-east-1").add_auth(req)
    seed = req.headers["Authorization"].rsplit("Signature=", 1)[1]
    date = req.headers["X-Amz-Date"]
    k = ("AWS4" + sec).encode()
    for m in (date[:8], "us-east-1", "s3", "aws4_request"):
        k = hmac.new(k, m.encode(), hashlib.sha256).digest()
    scope = "%s/us-east-1/s3/aws4_request" % date[:8]
    body, prev, pos = b"", seed, 0
    for n in sizes + [0]:
        chunk = data[pos:pos + n]
        pos += n
        if mode == "signed":
            sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", date, scope, prev,
                             hashlib.sha256(b"").hexdigest(), hashlib.sha256(chunk).hexdigest()])
            prev = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
            body += b"%x;chunk-signature=%s\r\n" % (n, prev.encode()) + chunk + b"\r\n"
        elif n:
            body += b"%x\r\n" % n + chunk + b"\r\n"
        else:
            crc = base64.b64encode(struct.pack(">I", zlib.crc32(data))).decode()
            body += b"0\r\nx-amz-checksum-crc32:%s\r\n\r\n" % crc.encode()
    if tamper is not None:
        body = body[:tamper] + bytes([body[tamper] ^ 1]) + body[tamper + 1:]
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.netloc)
    h = dict(req.headers.items())
    h["Content-Length"] = str(len(body))
    c.request("PUT", u.path, body=body, headers=h)
    r = c.getresponse()
    out = (r.status, r.read())
    c.close()
    return out


blob = bytes(range(256)) * 1024 + b"tail"    # 256 KiB + 4
st, resp = chunked_put("chunk/signed.bin", blob, [65536, 65536, 131072, 4], "signed")
check("aws-chunked signed: 200", st == 200, (st, resp))
check("aws-chunked signed: the bytes", body_of("chunk/signed.bin") == blob)
st, resp = chunked_put("chunk/bad.bin", blob, [65536, 65536, 131072, 4], "signed", tamper=70000)
check("aws-chunked, a byte changed: SignatureDoesNotMatch", st == 403 and b"SignatureDoesNotMatch" in resp,
      (st, resp))
check("... and no object", code_of(lambda: s3.head_object(Bucket=bucket, Key="chunk/bad.bin")) == "404")
st, resp = chunked_put("chunk/trailer.bin", blob, [100000, 162148], "trailer")
check("aws-chunked unsigned with a CRC32 trailer: 200", st == 200, (st, resp))
check("... the bytes", body_of("chunk/trailer.bin") == blob)
st, resp = chunked_put("chunk/badcrc.bin", blob, [100000, 162148], "trailer", tamper=20)
check("... a byte changed: BadDigest, no object", st == 400 and b"BadDigest" in resp and
      code_of(lambda: s3.head_object(Bucket=bucket, Key="chunk/badcrc.bin")) == "404", (st, resp))

# --- what awscli made: the multipart ETag
h = s3.head_object(Bucket=bucket, Key="big.bin")
check("awscli multipart: ETag md5-of-md5s-7", h["ETag"] == '"%s"' % env["T21_BIG_ETAG"], h["ETag"])

# --- the same objects through both doors: a REST PUT, seen over S3
r = s3.list_objects_v2(Bucket=bucket, Prefix="rest/")
check("a REST PUT is listed over S3", [o["Key"] for o in r["Contents"]] == ["rest/pixel.png"], r)
g = s3.get_object(Bucket=bucket, Key="rest/pixel.png")
png = open(env["T21_DIR"] + "/p.png", "rb").read()
check("and readable over S3, with its type", g["Body"].read() == png and
      g["ContentType"] == "image/png", g)
with open(env["T21_DIR"] + "/s3.jpg", "rb") as f:
    s3.put_object(Bucket=bucket, Key="img/s3.jpg", Body=f, ContentType="image/jpeg")
with open(env["T21_DIR"] + "/head.url", "w") as f:
    f.write(s3.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": "img/s3.jpg"},
                                      ExpiresIn=600, HttpMethod="HEAD"))

# --- permissions, as over REST: owner scoping
b = client(env["T21_SKB"], env["T21_AKB"])
r = b.list_objects_v2(Bucket=bucket)
check("B (owner-scoped) sees none of A's objects", r["KeyCount"] == 0, r)
b.put_object(Bucket=bucket, Key="b/own.txt", Body=b"b")
r = b.list_objects_v2(Bucket=bucket)
check("B lists only its own", [o["Key"] for o in r["Contents"]] == ["b/own.txt"], r)
check("B cannot read A's object", code_of(lambda: b.get_object(Bucket=bucket, Key="dir/h.txt")) == "NoSuchKey")
check("B cannot overwrite A's object", code_of(lambda: b.put_object(
    Bucket=bucket, Key="dir/h.txt", Body=b"evil")) == "AccessDenied")
check("B cannot delete A's object: nothing happens", b.delete_object(Bucket=bucket, Key="dir/h.txt") and
      s3.get_object(Bucket=bucket, Key="dir/h.txt")["Body"].read() == b"hello s3")
check("B cannot copy A's object", code_of(lambda: b.copy_object(
    Bucket=bucket, Key="b/stolen", CopySource={"Bucket": bucket, "Key": "dir/h.txt"})) == "NoSuchKey")
check("B cannot complete into A's key", code_of(lambda: b.create_multipart_upload(
    Bucket=bucket, Key="dir/h.txt")) == "AccessDenied")
check("A sees B's object? no: owner-scoped too", code_of(lambda: s3.head_object(
    Bucket=bucket, Key="b/own.txt")) == "404")
subprocess.run([env["FILESTORCTL"], "apikey", "revoke", env["T21_AKB"]], check=True)
check("a revoked S3 key: InvalidAccessKeyId",
      code_of(lambda: b.list_objects_v2(Bucket=bucket)) == "InvalidAccessKeyId")
check("the end", True)
