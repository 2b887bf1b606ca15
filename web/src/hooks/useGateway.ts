"use client";
import { useQuery } from "@tanstack/react-query";
import { gateway, GatewayError } from "@/lib/gateway";

export function useGatewayModels() {
  return useQuery({ queryKey: ["gateway", "models"], queryFn: gateway.models, refetchInterval: 5_000, retry: 0 });
}

export function gatewayDown(error: unknown): boolean {
  return error instanceof GatewayError && (error.gatewayName === "GatewayUnreachableError" || error.status >= 502);
}
