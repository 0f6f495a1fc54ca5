#!/usr/bin/python3
"""A small grpcurl stand-in that needs only Debian packages (python3-grpcio, python3-protobuf,
protobuf-compiler, protobuf-compiler-grpc, grpc-proto). Everything comes from server reflection.

  tools/grpc_call.py localhost:50051 list
  tools/grpc_call.py localhost:50051 describe csms.control.v1.ControlService
  tools/grpc_call.py localhost:50051 call csms.control.v1.ControlService/GetCharger \
      '{"charger_id":"emart_jeju_01"}'

With API keys on, calls need a token: `--token-file FILE` (its first line) or the environment
variable CSMS_API_TOKEN; it is sent as `authorization: Bearer <token>` metadata. (Not a plain
command-line argument: those show up in `ps`.) list and describe need none.
"""
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

REFLECTION_PROTO = "/usr/share/grpc-proto/grpc/reflection/v1alpha/reflection.proto"


def load_reflection_stubs(workdir):
    # Renamed on copy: a generated top-level "grpc" package would shadow grpcio itself.
    shutil.copy(REFLECTION_PROTO, os.path.join(workdir, "reflection_v1alpha.proto"))
    subprocess.run(["protoc", f"-I{workdir}", f"--python_out={workdir}", f"--grpc_out={workdir}",
                    "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
                    "reflection_v1alpha.proto"], check=True)
    sys.path.insert(0, workdir)
    return (importlib.import_module("reflection_v1alpha_pb2"),
            importlib.import_module("reflection_v1alpha_pb2_grpc"))


class Reflector:
    def __init__(self, channel, pb2, pb2_grpc):
        self.pb2 = pb2
        self.stub = pb2_grpc.ServerReflectionStub(channel)
        self.pool = descriptor_pool.DescriptorPool()
        self.loaded = set()

    def ask(self, **request):
        reply = next(self.stub.ServerReflectionInfo(
            iter([self.pb2.ServerReflectionRequest(**request)]), timeout=10))
        if reply.HasField("error_response"):
            raise RuntimeError(reply.error_response.error_message)
        return reply

    def services(self):
        return [s.name for s in self.ask(list_services="").list_services_response.service]

    def add_files(self, serialized):
        files = {}
        for blob in serialized:
            fd = descriptor_pb2.FileDescriptorProto.FromString(blob)
            files[fd.name] = fd

        def add(name):
            if name in self.loaded:
                return
            fd = files.get(name)
            if fd is None:
                reply = self.ask(file_by_filename=name)
                self.add_files(reply.file_descriptor_response.file_descriptor_proto)
                return
            for dependency in fd.dependency:
                add(dependency)
            self.pool.Add(fd)
            self.loaded.add(name)

        for name in files:
            add(name)

    def service(self, name):
        reply = self.ask(file_containing_symbol=name)
        self.add_files(reply.file_descriptor_response.file_descriptor_proto)
        return self.pool.FindServiceByName(name)


def message_class(descriptor):
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(descriptor.file.pool).GetPrototype(descriptor)


def take_token(argv):
    """Removes --token-file FILE from argv; returns the token (or CSMS_API_TOKEN, or None)."""
    token = os.environ.get("CSMS_API_TOKEN") or None
    if "--token-file" in argv:
        at = argv.index("--token-file")
        if at + 1 >= len(argv):
            raise SystemExit("--token-file needs a file")
        with open(argv[at + 1], encoding="utf-8") as f:
            token = f.readline().strip()
        del argv[at:at + 2]
    return token


def main(argv):
    argv = list(argv)
    token = take_token(argv)
    if len(argv) < 3 or argv[2] not in ("list", "describe", "call"):
        print(__doc__, file=sys.stderr)
        return 2
    workdir = tempfile.mkdtemp(prefix="grpc_call.")
    try:
        channel = grpc.insecure_channel(argv[1])
        reflector = Reflector(channel, *load_reflection_stubs(workdir))
        if argv[2] == "list":
            print("\n".join(reflector.services()))
        elif argv[2] == "describe":
            for method in reflector.service(argv[3]).methods:
                print(f"rpc {method.name}({method.input_type.full_name}) "
                      f"returns ({method.output_type.full_name})")
        else:
            service_name, method_name = argv[3].rsplit("/", 1)
            method = reflector.service(service_name).FindMethodByName(method_name)
            request_class = message_class(method.input_type)
            response_class = message_class(method.output_type)
            call = channel.unary_unary(f"/{service_name}/{method_name}",
                                       request_serializer=request_class.SerializeToString,
                                       response_deserializer=response_class.FromString)
            request = json_format.Parse(argv[4] if len(argv) > 4 else "{}", request_class())
            metadata = [("authorization", f"Bearer {token}")] if token else None
            response = call(request, timeout=60, metadata=metadata)
            print(json_format.MessageToJson(response))  # proto3 JSON names (lowerCamelCase)
        return 0
    except grpc.RpcError as e:
        print(f"ERROR: {e.code().name}: {e.details()}", file=sys.stderr)
        return 1
    except (RuntimeError, KeyError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
