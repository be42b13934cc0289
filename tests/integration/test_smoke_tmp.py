import json, time
from localaws.control import StackControl
from localaws.demo import seed_demo_estate
from tests.support.lambda_runtime import deploy

def test_smoke(stack: StackControl) -> None:
    estate = seed_demo_estate(stack.endpoint_url)
    stack.lift_quotas()
    d = deploy()
    t=time.time()
    r = d.invoke({"source": "schedule"}, CONNECT_REQUESTS_PER_SECOND="50")
    print("baseline", time.time()-t, r["status"], r["baseline_numbers"])
    t=time.time()
    r = d.invoke({"source": "schedule"}, CONNECT_REQUESTS_PER_SECOND="50")
    print("quiet", time.time()-t, r["status"])
    assert False
