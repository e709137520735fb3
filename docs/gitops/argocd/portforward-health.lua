-- Argo CD health of a PortForward (resource.customizations.health.portforward.dev_PortForward).
-- Progressing until the operator has seen the current generation and the node agents have
-- programmed it; Degraded when the operator refused it (Accepted=False), its target does not
-- resolve, a data plane refused it (a node's kernel, the relay's pods, the gateway) or it has no
-- ready backend; Healthy when Ready.
local hs = {}

local function condition(type)
  if obj.status ~= nil and obj.status.conditions ~= nil then
    for _, c in ipairs(obj.status.conditions) do
      if c.type == type then
        return c
      end
    end
  end
  return nil
end

local function said(c)
  return (c.reason or "") .. ": " .. (c.message or "")
end

if obj.status == nil or obj.status.observedGeneration == nil
    or (obj.metadata.generation ~= nil and obj.status.observedGeneration < obj.metadata.generation) then
  hs.status = "Progressing"
  hs.message = "waiting for the operator to see generation " .. tostring(obj.metadata.generation)
  return hs
end

local accepted = condition("Accepted")
if accepted ~= nil and accepted.status == "False" then
  hs.status = "Degraded"
  hs.message = said(accepted)
  return hs
end

local resolved = condition("ResolvedRefs")
if resolved ~= nil and resolved.status == "False" then
  hs.status = "Degraded"
  hs.message = said(resolved)
  return hs
end

-- Reasons that mean a data plane refused the forward, rather than that it is still on its way.
local refused = {
  NotProgrammed = true, NoSelectedNodes = true, HostNetworkPods = true, SidecarsMissing = true,
  RelayObjectConflict = true
}

local programmed = condition("Programmed")
if programmed ~= nil and programmed.status == "False" and refused[programmed.reason] then
  hs.status = "Degraded"
  hs.message = said(programmed)
  return hs
end

-- A node whose agent reports a failed transaction refuses the forward, even while others have it.
if obj.status.nodes ~= nil then
  for _, node in ipairs(obj.status.nodes) do
    if node.programmed == false and node.message ~= nil and node.message ~= "no agent reports from this node"
        and not string.find(node.message, "has not programmed generation", 1, true) then
      hs.status = "Degraded"
      hs.message = "node " .. tostring(node.name) .. ": " .. node.message
      return hs
    end
  end
end

local mapped = condition("GatewayMapped")
if mapped ~= nil and mapped.status == "False" and mapped.reason == "MappingRefused" then
  hs.status = "Degraded"
  hs.message = said(mapped)
  return hs
end

local ready = condition("Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
if programmed == nil or programmed.status ~= "True" then
  hs.status = "Progressing"
  hs.message = programmed ~= nil and said(programmed) or "not programmed yet"
  return hs
end
if ready ~= nil and ready.reason == "NoReadyBackends" then
  hs.status = "Degraded"
  hs.message = said(ready)
  return hs
end
hs.status = "Progressing"
hs.message = ready ~= nil and said(ready) or "not ready yet"
return hs
