from svc_leaver.models import Base
from vendorkit.migrations import run_env

run_env(Base.metadata)
