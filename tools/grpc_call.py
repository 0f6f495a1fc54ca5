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

Every mistake (bad arguments, JSON that is not the request message, an unknown service or method,
an unreachable server, an error status) is one line on stderr starting with "ERROR:", and a
non-zero exit: 2 for the command line, 1 for everything else.
"""
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

USAGE = ("usage: grpc_call.py [--token-file FILE] HOST:PORT "
         "list | describe SERVICE | call SERVICE/METHOD [JSON]")

try:
    import grpc
    from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
except ImportError as missing:
    sys.exit(f"ERROR: {missing.name or missing} is missing; install python3-grpcio and "
             "python3-protobuf (scripts/install-deps.sh)")

REFLECTION_PROTO = "/usr/share/grpc-proto/grpc/reflection/v1alpha/reflection.proto"


class UserError(Exception):
    """A mistake the user can fix; printed as one line."""

    def __init__(self, message, exit_code=1):
        super().__init__(message)
        self.exit_code = exit_code


class ReflectionError(UserError):
    """The server's reflection service answered with an error (e.g. an unknown symbol)."""


def one_line(text):
    return " ".join(str(text).split())


def load_reflection_stubs(workdir):
    if not os.path.exists(REFLECTION_PROTO):
        raise UserError(f"{REFLECTION_PROTO} is missing; install grpc-proto")
    # Renamed on copy: a generated top-level "grpc" package would shadow grpcio itself.
    shutil.copy(REFLECTION_PROTO, os.path.join(workdir, "reflection_v1alpha.proto"))
    try:
        subprocess.run(["protoc", f"-I{workdir}", f"--python_out={workdir}",
                        f"--grpc_out={workdir}",
                        "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
                        "reflection_v1alpha.proto"], check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise UserError("protoc is missing; install protobuf-compiler and "
                        "protobuf-compiler-grpc") from None
    except subprocess.CalledProcessError as e:
        raise UserError(f"protoc failed: {one_line(e.stderr)}") from None
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
            raise ReflectionError(f"server reflection: {reply.error_response.error_message}")
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
        try:
            reply = self.ask(file_containing_symbol=name)
        except ReflectionError as e:
            raise UserError(f"the server has no service {name} ({e}); see `list`") from None
        self.add_files(reply.file_descriptor_response.file_descriptor_proto)
        try:
            return self.pool.FindServiceByName(name)
        except KeyError:
            # The symbol exists but is not a service (a message, a method).
            raise UserError(f"{name} is not a service; see `list`") from None

    def method(self, full_name):
        service_name, slash, method_name = full_name.rpartition("/")
        if not slash or not service_name or not method_name:
            raise UserError(f"'{full_name}' is not SERVICE/METHOD, e.g. "
                            "csms.control.v1.ControlService/GetCharger", 2)
        service = self.service(service_name)
        method = service.methods_by_name.get(method_name)
        if method is None:
            raise UserError(f"{service_name} has no method {method_name}; it has "
                            + ", ".join(m.name for m in service.methods))
        return service_name, method


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
            raise UserError("--token-file needs a file", 2)
        try:
            with open(argv[at + 1], encoding="utf-8") as f:
                token = f.readline().strip()
        except OSError as e:
            raise UserError(f"cannot read the token file: {e.strerror}: {argv[at + 1]}") from None
        if not token:
            raise UserError(f"the token file {argv[at + 1]} is empty")
        del argv[at:at + 2]
    return token


def parse_request(text, request_class):
    name = request_class.DESCRIPTOR.full_name
    try:
        value = json.loads(text)
    except ValueError as e:
        raise UserError(f"bad request for {name}: not JSON: {e}") from None
    if not isinstance(value, dict):
        raise UserError(f"bad request for {name}: it must be a JSON object, like "
                        "'{\"charger_id\":\"emart_jeju_01\"}'") from None
    try:
        return json_format.ParseDict(value, request_class())
    except json_format.ParseError as e:
        # Unknown fields, wrong types and JSON syntax alike; the library's text may span lines.
        raise UserError(f"bad request for {name}: {one_line(e)}") from None


def run(argv, token):
    commands = {"list": 0, "describe": 1, "call": (1, 2)}
    if len(argv) < 3 or argv[2] not in commands:
        raise UserError(USAGE, 2)
    extra = len(argv) - 3
    allowed = commands[argv[2]]
    if extra not in (allowed if isinstance(allowed, tuple) else (allowed,)):
        raise UserError(f"wrong number of arguments for {argv[2]}; {USAGE}", 2)
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
            service_name, method = reflector.method(argv[3])
            request_class = message_class(method.input_type)
            response_class = message_class(method.output_type)
            request = parse_request(argv[4] if len(argv) > 4 else "{}", request_class)
            call = channel.unary_unary(f"/{service_name}/{method.name}",
                                       request_serializer=request_class.SerializeToString,
                                       response_deserializer=response_class.FromString)
            metadata = [("authorization", f"Bearer {token}")] if token else None
            response = call(request, timeout=60, metadata=metadata)
            print(json_format.MessageToJson(response))  # proto3 JSON names (lowerCamelCase)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv):
    argv = list(argv)
    if len(argv) > 1 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    try:
        run(argv, take_token(argv))
        return 0
    except UserError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return e.exit_code
    except grpc.RpcError as e:
        # An error status from the server, or none reached (UNAVAILABLE, DEADLINE_EXCEEDED).
        code = e.code().name if e.code() is not None else "UNKNOWN"
        print(f"ERROR: {code}: {one_line(e.details() or 'no details')}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ERROR: interrupted", file=sys.stderr)
        return 130


def main_closing_stdout(argv):
    try:
        code = main(argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # The reader went away (`... | head`): nothing more to say, and no traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main_closing_stdout(sys.argv))
