"""The course lifecycle's instructor side: one source per assignment (solution markers in the
reference, the skeleton generated from it), the student release and the Gradescope autograder
built from it, and the leak guard that refuses to write either if it would leak."""
from .autograder import autograder_release
from .build import Release, ReleaseError, student_release, write_folder, write_zip
from .guard import Leak, LeakError, course_secrets, scan
from .manifest import MANIFEST, describe, read_manifest
from .markers import MarkerError, skeleton_source
from .skeletons import generated_skeleton, skeleton_problems, skeleton_text, write_skeleton
from .wheel import WheelError, build_wheel

__all__ = ["MANIFEST", "Leak", "LeakError", "MarkerError", "Release", "ReleaseError", "WheelError",
           "autograder_release", "build_wheel", "course_secrets", "describe", "generated_skeleton",
           "read_manifest", "scan", "skeleton_problems", "skeleton_source", "skeleton_text", "student_release",
           "write_folder", "write_skeleton", "write_zip"]
